"""Execute: run bundles, the (target, seed) dispatch loop and the main job (a campaign)."""
