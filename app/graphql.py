"""The GraphQL schema: root types merged from every domain, plus the extensions that guard it."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import (
    BREAK,
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    SelectionSetNode,
    ValidationContext,
    Visitor,
    specified_rules,
    visit,
)
from starlette.responses import Response
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.execution import StreamExecutionResult

from app import guards
from app.limits import charge_now
from app.query_cost import PageSizes, cost_limiter, operation_cost, remember_cost
from app.stored_text import StoredTextGuard, holds_nul, nul_errors
from compiled.compiler import Compiler, Limits
from core import metrics, tracing
from core.config import Settings
from core.database import is_unavailable
from core.errors import AppError, ErrorCode
from resolvers.analytics import AnalyticsQuery
from resolvers.bulk import BulkMutation
from resolvers.bulk_sales import SalesBulkMutation
from resolvers.company import CompanyMutation, CompanyQuery
from resolvers.company_merge import CompanyMergeMutation, CompanyMergeQuery
from resolvers.custom_field import CustomFieldMutation, CustomFieldQuery
from resolvers.customer import CustomerMutation, CustomerQuery
from resolvers.deal import DealMutation, DealQuery
from resolvers.deal_stats import DealStatsQuery
from resolvers.duplicate import DuplicateQuery
from resolvers.email import EmailMutation, EmailQuery
from resolvers.email_stats import EmailStatsQuery
from resolvers.exchange_rate import ExchangeRateMutation, ExchangeRateQuery
from resolvers.interaction import InteractionMutation, InteractionQuery
from resolvers.merge import MergeMutation, MergeQuery
from resolvers.message import ConversationMutation, MessageMutation, MessageQuery
from resolvers.node import NodeQuery
from resolvers.order import OrderMutation, OrderQuery
from resolvers.pipeline import PipelineMutation, PipelineQuery
from resolvers.prediction import PredictionMutation, PredictionQuery
from resolvers.prediction_score import PredictionScoreMutation, PredictionScoreQuery
from resolvers.privacy import PrivacyMutation, PrivacyQuery
from resolvers.product import ProductMutation, ProductQuery
from resolvers.saved_view import SavedViewMutation, SavedViewQuery
from resolvers.security import SecurityMutation, SecurityQuery
from resolvers.subscription import InteractionSubscription
from resolvers.task import TaskMutation, TaskQuery
from resolvers.task_due import TaskSubscription
from resolvers.team import TeamMutation, TeamQuery
from resolvers.tokens import TokenMutation
from resolvers.user import UserMutation, UserQuery
from resolvers.webhook import WebhookMutation, WebhookQuery
from schema import scalars
from schema.customer import Customer
from schema.interaction import Interaction
from schema.order import Order
from schema.user import Organization, User

log = logging.getLogger("crm.graphql")
UNAVAILABLE_MESSAGE = "The database is unavailable; retry shortly"
UNAVAILABLE_RETRY_AFTER = "1"

Query = merge_types(
    "Query",
    (NodeQuery, UserQuery, CustomerQuery, InteractionQuery, OrderQuery, ProductQuery, EmailQuery,
     PredictionQuery, AnalyticsQuery, SecurityQuery, PrivacyQuery, DuplicateQuery, MergeQuery,
     WebhookQuery, CompanyQuery, PipelineQuery, DealQuery, TaskQuery, EmailStatsQuery,
     SavedViewQuery, MessageQuery, ExchangeRateQuery, CompanyMergeQuery, TeamQuery,
     DealStatsQuery, CustomFieldQuery,
     PredictionScoreQuery),
)
Mutation = merge_types(
    "Mutation",
    (UserMutation, CustomerMutation, InteractionMutation, OrderMutation, ProductMutation,
     BulkMutation, SalesBulkMutation, ExchangeRateMutation, CompanyMergeMutation,
     EmailMutation, PredictionMutation, TokenMutation, SecurityMutation, PrivacyMutation,
     MergeMutation, WebhookMutation, CompanyMutation, PipelineMutation, DealMutation,
     TaskMutation, SavedViewMutation, MessageMutation, ConversationMutation, TeamMutation,
     CustomFieldMutation,
     PredictionScoreMutation),
)
Subscription = merge_types("Subscription", (InteractionSubscription, TaskSubscription))


def is_internal(error: GraphQLError) -> bool:
    """Whether an error is a bug or an outage rather than something the client can fix."""
    original = error.original_error
    return original is not None and not isinstance(original, AppError | GraphQLError)


class PerOperationLoaders(SchemaExtension):
    """Fresh DataLoaders for every operation (a websocket context outlives many)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if hasattr(context, "reset_loaders"):
            context.reset_loaders()
        yield


class Observed(SchemaExtension):
    """The operation's span, and its name and error codes for the request's metrics and log."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        with tracing.span("graphql.operation") as span:
            yield
            # a document refused before execution has those errors as its result's too
            errors = context.pre_execution_errors or (context.result and context.result.errors)
            metrics.graphql_operation(
                context.operation_name, [str(_code(error)) for error in errors or ()]
            )
            if span is not None:
                tracing.set_attributes(span, {
                    "graphql.operation.name": context.operation_name or "",
                    "graphql.operation.type": _operation_type(context),
                })


def _operation_type(context: ExecutionContext) -> str:
    try:
        return str(context.operation_type.value)
    except Exception:  # no document (it did not parse) or no such operation
        return ""


class ErrorPolicy(SchemaExtension):
    """Mask internal errors (with a request id the client can quote); label the others."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        request_id = getattr(context.context, "request_id", None)
        result = context.result
        # parse and validation errors never reach ``result``; they are edited in place
        errors = [*(context.pre_execution_errors or ()), *((result and result.errors) or ())]
        for error in errors:
            _present(error, request_id)
        if any(_code(error) == ErrorCode.SERVICE_UNAVAILABLE for error in errors):
            _answer_unavailable(getattr(context.context, "response", None))

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # subscription events leave one by one, long before the operation ends
        request_id = getattr(self.execution_context.context, "request_id", None)
        for error in getattr(result, "errors", None) or ():
            _present(error, request_id)
        yield


def _code(error: GraphQLError) -> object:
    return (error.extensions or {}).get("code")


def _answer_unavailable(response: object) -> None:
    """An HTTP answer with an unreachable database is a 503 the client may retry."""
    if isinstance(response, Response):
        response.status_code = 503
        response.headers["Retry-After"] = UNAVAILABLE_RETRY_AFTER


def _present(error: GraphQLError, request_id: str | None) -> None:
    if is_internal(error) and error.original_error and is_unavailable(error.original_error):
        error.message = UNAVAILABLE_MESSAGE
        error.args = (error.message,)
        error.original_error = None
        error.extensions = {
            "code": ErrorCode.SERVICE_UNAVAILABLE.value, "requestId": request_id
        }
    elif is_internal(error):
        error.message = "Internal server error"
        error.args = (error.message,)
        error.original_error = None
        error.extensions = {
            "code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id
        }
    elif not error.extensions or "code" not in error.extensions:
        code = "GRAPHQL_VALIDATION_FAILED" if error.original_error is None else "BAD_USER_INPUT"
        error.extensions = {**(error.extensions or {}), "code": code}


class CrmSchema(strawberry.Schema):
    """Logs internal errors in full with the request id, and nothing of user errors."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        request_id = getattr(getattr(execution_context, "context", None), "request_id", None)
        for error in errors:
            original = error.original_error
            if original is not None and is_internal(error) and is_unavailable(original):
                log.warning("database unavailable in %s (request %s): %s",
                            error.path, request_id, type(original).__qualname__)
            elif original is not None and is_internal(error):
                # where it failed, not the exception's message: messages of database errors
                # quote the offending values, which may be personal data
                frames = "".join(traceback.format_tb(original.__traceback__))
                log.error(
                    "internal error %s.%s in %s (request %s)\n%s",
                    type(original).__module__, type(original).__qualname__, error.path,
                    request_id, frames,
                )


def _empty_selection(document: DocumentNode) -> SelectionSetNode | None:
    """The first ``{ }`` of a document: the GraphQL grammar has none (``{ Selection+ }``), but
    the parser lets them through."""
    found: list[SelectionSetNode] = []

    class Finder(Visitor):
        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> Any:
            if not node.selections:
                found.append(node)
                return BREAK
            return None

    visit(document, Finder())
    return found[0] if found else None


def _depth_rule(max_depth: int) -> type[ASTValidationRule]:
    """strawberry's depth limit, refusing an empty selection set first (measuring its depth
    raised ValueError, out of the request: a crash any client could cause)."""
    (measured,) = QueryDepthLimiter(max_depth=max_depth).validation_rules

    class DepthLimit(measured):  # type: ignore[misc,valid-type]
        def __init__(self, context: ValidationContext) -> None:
            empty = _empty_selection(context.document)
            if empty is None:
                super().__init__(context)
                return
            context.report_error(GraphQLError("Syntax Error: a selection set must not be"
                                              " empty.", [empty]))
            ASTValidationRule.__init__(self, context)

    return DepthLimit


def limit_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """Validation rules refusing documents nested too deep or with too many aliases."""
    return [
        _depth_rule(settings.query_max_depth),
        *MaxAliasesLimiter(max_alias_count=settings.query_max_aliases).validation_rules,
    ]


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with bounded caches and query limits."""
    size = settings.query_cache_size
    # Built once: the validation cache is keyed by the rule classes, and each limiter
    # instance makes classes of its own, so per-request limiters would never hit it.
    rules = limit_rules(settings)
    extensions: list[Any] = [
        Observed,  # outermost: it reads the codes ErrorPolicy gives
        ErrorPolicy,
        lambda: ParserCache(maxsize=size),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=size),
        StoredTextGuard,
        lambda: MaxTokensLimiter(max_token_count=settings.query_max_tokens),
        cost_limiter(
            settings.query_max_cost,
            PageSizes(default=settings.default_page_size, maximum=settings.max_page_size),
        ),
        PerOperationLoaders,
    ]
    schema = CrmSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Customer, Order, Interaction, User, Organization],
        extensions=extensions,
        scalar_overrides=scalars.OVERRIDES,
    )
    guards.install(schema)  # audit, scopes and PII masking (app/guards.py)
    return schema


def build_compiler(schema: strawberry.Schema, settings: Settings) -> Compiler:
    """The compiled path for ``schema``: the same validation rules, limits and cost."""
    pages = PageSizes(default=settings.default_page_size, maximum=settings.max_page_size)

    def cost(document: Any, operation_name: str | None, variables: Any) -> int:
        return operation_cost(schema._schema, document, operation_name, variables, pages)

    def remember_and_charge(context: Any, cost: int) -> None:
        remember_cost(context, cost)
        charge_now(context, cost)  # raises Unpaid when the store must be asked (app/view.py)

    limits = Limits(
        max_tokens=settings.query_max_tokens, max_cost=settings.query_max_cost,
        cache_size=settings.query_cache_size,
    )
    return Compiler(
        schema, [*specified_rules, *limit_rules(settings)], limits, cost, remember_and_charge,
        refused_document=lambda document: bool(nul_errors(document, None)),
        refused_variables=holds_nul,
    )


if __name__ == "__main__":  # python -m app.graphql prints the SDL
    print(build_schema(Settings(env="development")).as_str())
