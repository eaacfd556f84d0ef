"""Protection: alerts for parents from a child's conversations (and, later, reports and cases).

* :mod:`.alerts` — pure decisions: which results become alerts, the redacted snippet,
  deduplication and rate limits;
* :mod:`.monitor` — I/O: reading messages, storing encrypted alerts, listing them and
  recording a parent's feedback;
* :mod:`.guidance` — what a parent reads next to an alert (vi/en, hotline 111);
* :mod:`.retention` — how long alerts are kept, and purging the older ones;
* :mod:`.commands` — ``safegate monitor`` and ``safegate alerts purge``.

See docs/alerts.md. Nothing heavy is imported here: ``safegate --help`` stays fast.
"""
