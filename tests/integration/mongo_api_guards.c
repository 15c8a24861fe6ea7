/*
 * mongo_api_guards.c - the api plugin's tests of
 * tests/integration/api_guards.c, unchanged, against guestbookd over the mongo
 * store on FerretDB: the API behaves the same whichever store is behind it.
 */
#include "api_helpers.h"
#include "mongo_api_tests.h"

#include "api_guards.c"
