"""Webhooks: a study's endpoints receive signed events (issue 12, part 3).

* :mod:`.endpoints` — add (https only; a generated ``whsec_`` secret), list, disable;
* :mod:`.events` — :func:`~.events.emit` a delivery per active subscribed endpoint, at most
  once per event key; the four events and their ``data``;
* :mod:`.signing` — the headers ``Webhook-Id``, ``Webhook-Timestamp``,
  ``Webhook-Signature: v1=<hex HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")>`` and
  :func:`~.signing.verify` for receivers (5-minute tolerance, ids seen before refused);
* :mod:`.delivery` — one attempt (claim, POST, record), exponential backoff, at most 8
  attempts, the delivery log;
* :mod:`.dispatch` — attempts after the commit on the job backend (thread or RQ), and the
  passes ``flask webhooks deliver`` runs;
* :mod:`.due` — ``wave.opened`` when a participant's window of a wave is open.
"""
