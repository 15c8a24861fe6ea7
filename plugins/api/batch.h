/*
 * batch.h - POST /api/v1/messages/batch of the api plugin: several posts
 * in one request, stored in one commit (see batch.c).
 */
#ifndef GB_API_BATCH_H
#define GB_API_BATCH_H

#include "guestbook/plugin.h"

/* Most messages in one batch request. */
#define API_BATCH_MAX 100

/* Gives the handler the host and the plugin; call from init. */
void api_batch_init(const struct gb_host_api *host, struct gb_plugin *self);

/* The route handler of POST /api/v1/messages/batch. */
void api_batch_post(struct gb_request *req, void *userdata);

#endif
