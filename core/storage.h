/*
 * storage.h - the host side of storage: the registry of back ends, the
 * configured store, timed and counted operations, and cached readiness.
 */
#ifndef GB_CORE_STORAGE_H
#define GB_CORE_STORAGE_H

#include <stddef.h>

#include "guestbook/plugin.h"

/* Registers a back end (from a plugin's init). */
enum gb_status gb_storage_register(const char *name,
				   const struct gb_storage_ops *ops,
				   void *store);

/*
 * Opens the registered back end `name`, registers the storage metrics and
 * starts the readiness pinger (every `ping_interval_ms`). -1 and one line
 * in err on failure.
 */
int gb_storage_open(const char *name, long ping_interval_ms, char *err,
		    size_t errlen);

/* 1 when the last ping succeeded; its detail ("ok" or the error). */
int gb_storage_ready(char *detail, size_t len);

/*
 * 0 while the last write failed as unavailable (a store that still reads
 * stays ready); its detail ("ok" or the error).
 */
int gb_storage_writable(char *detail, size_t len);

/* Stops the pinger, closes the store, forgets the registry. */
void gb_storage_close(void);

/* The store_* functions of struct gb_host_api. */
enum gb_status gb_store_insert(struct gb_request *req, const char *collection,
			       const cJSON *doc, char id_out[GB_ID_MAX],
			       struct gb_error *err);
enum gb_status gb_store_get(struct gb_request *req, const char *collection,
			    const char *id, cJSON **doc_out,
			    struct gb_error *err);
enum gb_status gb_store_list(struct gb_request *req, const char *collection,
			     int limit, const char *cursor, cJSON **docs_out,
			     char **next_cursor, struct gb_error *err);
enum gb_status gb_store_remove(struct gb_request *req, const char *collection,
			       const char *id, struct gb_error *err);
enum gb_status gb_store_insert_once(struct gb_request *req,
				    const char *collection, const cJSON *doc,
				    const char *key, char id_out[GB_ID_MAX],
				    int *repeated, struct gb_error *err);
/* api->store_insert_many (see plugin.h). */
enum gb_status gb_store_insert_many(struct gb_request *req,
				    const char *collection,
				    struct gb_insert_item *items, size_t n,
				    struct gb_error *err);
enum gb_status gb_store_count(struct gb_request *req, const char *collection,
			      uint64_t *count, struct gb_error *err);
const char *gb_store_name(void);

/* 1 when `key` is a well-formed idempotency key (plugin.h's rule). */
int gb_idempotency_key_valid(const char *key);

/* Changes on every successful insert or remove (gb_host_api). */
uint64_t gb_store_generation(void);

/*
 * Moving data (guestbookd export, import, backup): the ABI 1.2 slots of
 * the configured store, or GB_ERR_INVALID with a sentence naming the store
 * when it lacks the operation. See struct gb_storage_ops for the meaning.
 */
enum gb_status gb_store_scan(const char *collection,
			     int (*each)(void *ud, const cJSON *doc), void *ud,
			     struct gb_error *err);
enum gb_status gb_store_import(const char *collection, const cJSON *const *docs,
			       size_t n, size_t *added, struct gb_error *err);
enum gb_status gb_store_backup(const char *path, struct gb_error *err);

#endif
