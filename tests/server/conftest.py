"""Server test fixtures (shared with tests/hardening: serverfixtures.py; helpers: serverkit.py)."""
from serverfixtures import (  # noqa: F401
    _close_worker_connections,
    _fast_password_hashing,
    _fresh_channel_layer,
    frames,
    game,
    instructor,
    preset_dir,
    store_js,
    template,
)
