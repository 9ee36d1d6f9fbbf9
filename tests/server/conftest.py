"""Server test fixtures (shared with tests/hardening: serverfixtures.py; helpers: serverkit.py)."""
from serverfixtures import (_close_worker_connections, _fast_password_hashing,  # noqa: F401
                            _fresh_channel_layer, game, instructor, preset_dir)
