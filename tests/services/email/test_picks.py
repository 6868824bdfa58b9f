"""'Your picks' emails: templates see each customer's recommendations."""

from __future__ import annotations

from db import recommendation as recommendations
from db.models import Customer
from tests.demo import Demo
from tests.email_helpers import email_row, email_settings, make_template, queue_email

PICKS = ("Picks for {{ customer.first_name }}:\n"
         "{% for p in customer.recommendations %}- {{ p.name }} ({{ p.price }} {{ p.currency }})"
         "\n{% endfor %}")


async def test_a_template_lists_the_customers_recommendations(demo: Demo, settings) -> None:
    customer = await Customer.filter(organization_id=demo.org.id, email_opt_out=False,
                                     email__not_isnull=True).order_by("id").first()
    assert customer is not None
    stored = (await recommendations.for_customers(org_id=demo.org.id, ids=[customer.id]))[
        customer.id]
    expected = [r["name"] for r in stored if r["active"] and not r["purchased"]][:5]
    assert expected
    template = await make_template(demo.org, subject="Your picks", text=PICKS)
    email = await queue_email(email_settings(settings), customer, subject=None, text=None,
                              template_id=template["id"])
    text = bytes((await email_row(email["id"]))["mime"]).decode("utf-8", "replace")
    for name in expected:
        assert f"- {name} (" in text
