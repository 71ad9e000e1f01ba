"""Korea Investment & Securities (KIS) Open API: realtime wire parsing (``frames``).

No Django imports in this package.
"""
