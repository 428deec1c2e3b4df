"""Push vendor adapters: each speaks one vendor's real HTTP API with its real authentication
(services/push/vendors/base.py has the contract they share)."""
