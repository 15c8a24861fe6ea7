api_COMMON := 1
