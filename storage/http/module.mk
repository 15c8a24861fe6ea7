http_LIBS := -lcivetweb -lm
