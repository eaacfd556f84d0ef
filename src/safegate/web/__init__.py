"""The web app and its REST API (FastAPI, server-rendered Jinja2 pages), served by
`safegate serve` beside the gate. Pages and API call the app layer only (docs/web.md)."""
