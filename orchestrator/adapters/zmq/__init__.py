"""The daemon's ZeroMQ adapter: the ROUTER/PUB bridge and its request handlers."""
