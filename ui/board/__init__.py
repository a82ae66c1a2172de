"""The room board (`kapsession board --dsn DSN`): one dark window for the nurses' station, a tile
per room, fed by kapsession.hub.board_feed. It holds no clinical data and opens no data folder."""
