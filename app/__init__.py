"""The CRM application: settings, ASGI app, authentication and the ``crm`` command."""
