# The mongo store links the MongoDB C driver (Debian libmongoc-dev).
mongo_LIBS := $(MONGO_LIBS)
