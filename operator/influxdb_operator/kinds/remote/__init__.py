"""RemoteConnection: its adapter and sync, and the tokens minted for it."""
