"""Music: arcs, the arc player, pre-flight, playlist formats and the one libVLC adapter (which imports vlc lazily). Imports the ground and storage."""
