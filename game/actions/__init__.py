"""The only code that changes game state, one named action per change (the engine's settlement
lives in game/engine.py). One module per domain: setup (creating a game), lobby (seats, roles,
lock, the Foundation), start, clock (pause … end, scripted events), orders, presence; `control`
maps the console's ops to them. docs/architecture.md, "Actions"."""
