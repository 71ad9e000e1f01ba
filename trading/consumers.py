"""``/ws/account/``: the user's own order, fill, cash and reset events. Authenticated by a JWT
access token in the query string (``?token=...``, API clients) or by the session (the site's pages).

Server -> client: ``{"type": "order", "order_id", "status"}``, ``{"type": "fill", "order_id",
"price", "quantity", "fee"}``, ``{"type": "cash", ...}``, ``{"type": "reset"}``, all pushed after
the change committed. Unauthenticated connections are closed with code 4401, and so are the
user's open sockets when the user logs out (``POST /api/v1/auth/logout/``).
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.websocket import SafeJsonReceiveMixin
from trading.services import account_group


class AccountConsumer(SafeJsonReceiveMixin, AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group = account_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.send_json({"type": "error", "message": "This stream is read-only."})

    async def account_event(self, event):
        await self.send_json(event["event"])

    async def account_close(self, event):
        """The user logged out (or a refresh-token family was revoked): close with 4401."""
        await self.close(code=4401)
