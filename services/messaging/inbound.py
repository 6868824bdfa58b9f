"""Provider webhooks turned into records: messages, STOP/START, delivery receipts, call events.

Parsers read the Twilio form parameters or the generic JSON shape (see services/messaging/
generic.py and the README); handlers record them through db/channel_inbound.py and
db/channel_message.py and answer with a small JSON summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import phonenumbers

from db import channel_inbound as inbound
from db import channel_message as messages
from db.channel_enums import MessageStatus
from db.enums import Channel

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES", "OPTIN"})
# Twilio message statuses -> ours (others, such as queued or sending, change nothing)
TWILIO_MESSAGE_STATUS = {
    "sent": MessageStatus.SENT, "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED, "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
}
# Twilio call statuses -> the status of a call placed by sendMessage(channel: PHONE)
TWILIO_CALL_STATUS = {
    "in-progress": MessageStatus.SENT, "completed": MessageStatus.DELIVERED,
    "busy": MessageStatus.FAILED, "no-answer": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED, "canceled": MessageStatus.FAILED,
}
GENERIC_STATUS = {s.value: s for s in (MessageStatus.SENT, MessageStatus.DELIVERED,
                                       MessageStatus.FAILED)}
SOCIAL_CHANNELS = {"CHAT": Channel.CHAT, "SOCIAL": Channel.SOCIAL, "SMS": Channel.SMS,
                   "WHATSAPP": Channel.WHATSAPP}


class Malformed(ValueError):
    """A webhook that is signed but does not say what the CRM needs (HTTP 400)."""


def e164(value: str) -> str | None:
    """A number (``whatsapp:`` prefix allowed) in E.164, or None when it is not a valid one."""
    number = value.removeprefix("whatsapp:").strip()
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def consent_of(channel: Channel, text: str) -> bool | None:
    """True for an opt-out keyword, False for an opt-in one, on SMS and WhatsApp."""
    if channel not in (Channel.SMS, Channel.WHATSAPP):
        return None
    word = text.strip().rstrip(".!").upper()
    return True if word in STOP_WORDS else False if word in START_WORDS else None


def _required(form: Mapping[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise Malformed(f"missing {', '.join(missing)}")
    return [form[name] for name in names]


def _answer(recorded: inbound.Recorded, **extra: Any) -> tuple[int, dict[str, Any]]:
    if recorded.interaction_id is None and recorded.customer_id is None:
        return 200, {"recorded": False, "reason": "unknown sender", **extra}
    return (201 if recorded.created else 200), {
        "recorded": True, "duplicate": not recorded.created,
        "interactionId": recorded.interaction_id, "customerId": recorded.customer_id, **extra,
    }


async def twilio_message(provider: dict[str, Any], form: Mapping[str, str]
                         ) -> tuple[int, dict[str, Any]]:
    """An inbound SMS or WhatsApp message (Twilio's MessageSid, From, Body ...)."""
    sid, sender = _required(form, "MessageSid", "From")
    channel = Channel.WHATSAPP if sender.startswith("whatsapp:") else Channel.SMS
    text = form.get("Body", "")
    metadata: dict[str, Any] = {"messageSid": sid, "from": sender, "to": form.get("To", "")}
    if form.get("NumMedia", "0") not in ("", "0"):
        metadata["media"] = [form[f"MediaUrl{i}"] for i in range(int(form["NumMedia"]))
                             if form.get(f"MediaUrl{i}")]
    recorded = await inbound.record_message(inbound.InboundMessage(
        provider=provider, external_id=sid, channel=channel,
        sender=inbound.Sender(phone=e164(sender), name=form.get("ProfileName") or None),
        text=text, metadata=metadata, consent=consent_of(channel, text),
    ))
    return _answer(recorded)


async def receipt(provider: dict[str, Any], reference: str | None, provider_message_id: str,
                  status: MessageStatus | None, error: str | None) -> tuple[int, dict[str, Any]]:
    """A delivery report of one of our messages."""
    ref = int(reference.removeprefix("crm-")) if reference and reference.removeprefix(
        "crm-").isdigit() else None
    found = await messages.find(provider_id=provider["id"], reference=ref,
                                provider_message_id=provider_message_id)
    if found is None:
        return 404, {"error": "no such message of this provider"}
    if status is None:
        return 200, {"status": found["status"], "changed": False}
    row = await messages.set_status(found["id"], status, error=error,
                                    provider_message_id=provider_message_id or None)
    return 200, {"status": (row or found)["status"], "changed": row is not None}


async def twilio_status(provider: dict[str, Any], form: Mapping[str, str], reference: str | None
                        ) -> tuple[int, dict[str, Any]]:
    """Twilio's StatusCallback of a message (MessageSid, MessageStatus, ErrorCode)."""
    sid, state = _required(form, "MessageSid", "MessageStatus")
    error = None
    if form.get("ErrorCode"):
        error = f"{form['ErrorCode']}: {form.get('ErrorMessage') or state}"
    return await receipt(provider, reference, sid, TWILIO_MESSAGE_STATUS.get(state), error)


def _call_changes(form: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    state = form.get("CallStatus", "")
    changes: dict[str, Any] = {"callStatus": state}
    summary = f"Call {state}"
    if form.get("CallDuration"):
        changes["durationSeconds"] = int(form["CallDuration"]) if form[
            "CallDuration"].isdigit() else 0
        summary += f" ({changes['durationSeconds']} s)"
    if form.get("RecordingUrl"):
        changes["recordingUrl"] = form["RecordingUrl"]
        # a recording of a call no agent answered is the caller's voicemail
        voicemail = form.get("Voicemail", "").lower() == "true" or form.get(
            "AnsweredBy", "").startswith("machine") or form.get("DialCallStatus") == "no-answer"
        changes["voicemail"] = voicemail
        summary = f"Voicemail: {form['RecordingUrl']}" if voicemail else (
            summary + f"; recording {form['RecordingUrl']}")
    return changes, summary


async def twilio_call(provider: dict[str, Any], form: Mapping[str, str], reference: str | None
                      ) -> tuple[int, dict[str, Any]]:
    """A call event: ringing, answered (in-progress), completed with duration, recordings."""
    sid, state = _required(form, "CallSid", "CallStatus")
    changes, summary = _call_changes(form)
    outbound = None
    if reference is not None:
        code, body = await receipt(provider, reference, sid, TWILIO_CALL_STATUS.get(state),
                                   None if state not in ("busy", "no-answer", "failed")
                                   else f"call {state}")
        if code == 404:
            return code, body
        found = await messages.find(provider_id=provider["id"], reference=None,
                                    provider_message_id=sid)
        outbound = found["interaction_id"] if found else None
    direction = form.get("Direction", "inbound")
    caller = form.get("From", "") if direction == "inbound" else form.get("To", "")
    event = inbound.CallEvent(
        provider=provider, call_id=sid,
        event_key=f"{sid}:{state}:{form.get('RecordingSid') or form.get('RecordingUrl', '')}",
        inbound=direction == "inbound", caller=inbound.Sender(phone=e164(caller)),
        changes=changes, summary=summary,
    )
    return _answer(await inbound.record_call_event(event, outbound), callStatus=state)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed("sentAt must be an ISO 8601 date-time") from None


async def generic(provider: dict[str, Any], data: Any, reference: str | None
                  ) -> tuple[int, dict[str, Any]]:
    """The generic JSON webhook: ``type`` ``message`` (inbound) or ``status`` (a receipt)."""
    if not isinstance(data, dict) or data.get("type") not in ("message", "status"):
        raise Malformed('a JSON object with "type": "message" or "status"')
    if data["type"] == "status":
        message_id = str(data.get("messageId") or "")
        if not message_id and reference is None:
            raise Malformed("a status names the message (messageId)")
        status = GENERIC_STATUS.get(str(data.get("status", "")))
        if status is None:
            raise Malformed("status must be SENT, DELIVERED or FAILED")
        error = str(data["error"])[:500] if data.get("error") else None
        return await receipt(provider, reference, message_id, status, error)
    return await _generic_message(provider, data)


async def _generic_message(provider: dict[str, Any], data: dict[str, Any]
                           ) -> tuple[int, dict[str, Any]]:
    channel = SOCIAL_CHANNELS.get(str(data.get("channel", "")))
    sender = data.get("from")
    if channel is None or not isinstance(sender, dict) or not data.get("id"):
        raise Malformed('a message needs "id", "channel" (CHAT, SOCIAL, SMS, WHATSAPP) and'
                        ' a "from" object')
    text = data.get("text")
    if not isinstance(text, str):
        raise Malformed('"text" must be a string')
    platform = str(data.get("platform") or channel.value.lower())[:50]
    who = inbound.Sender(
        phone=e164(str(sender["phone"])) if sender.get("phone") else None, platform=platform,
        handle=str(sender["handle"])[:200] if sender.get("handle") else None,
        email=str(sender["email"])[:254] if sender.get("email") else None,
        name=str(sender["name"])[:200] if sender.get("name") else None,
    )
    recorded = await inbound.record_message(inbound.InboundMessage(
        provider=provider, external_id=str(data["id"])[:300], channel=channel, sender=who,
        text=text[:100_000], occurred_at=_parse_time(data.get("sentAt")),
        metadata={"platform": platform, "externalId": str(data["id"])[:300],
                  **({"handle": who.handle} if who.handle else {})},
        consent=consent_of(channel, text),
    ))
    return _answer(recorded)
