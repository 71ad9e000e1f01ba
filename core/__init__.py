"""The kernel every app builds on; it imports no app: money, exceptions, numbers, fields,
serializers, the API error shape, pagination and filter bounds, parsers, the WebSocket consumer mixin."""
