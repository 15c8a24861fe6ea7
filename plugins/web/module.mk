web_COMMON := 1
