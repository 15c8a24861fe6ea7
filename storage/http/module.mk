http_LIBS := -lcivetweb
