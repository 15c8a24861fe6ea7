# storage/sqlite: links the system SQLite library.
sqlite_LIBS := -lsqlite3
