"""Layer 5: tag batches and results over ZeroMQ: the wire format, publishers, subscribers."""
