/*
 * post_batch.c - the http store's posts to a v1 backend, coalesced. A post
 * costs the backend a whole HTTP request (and the front end a round trip)
 * for a few dozen bytes; under load, concurrent posts are therefore sent
 * together as one POST /api/v1/messages/batch, which the backend stores
 * in one commit.
 *
 * Group commit, as the SQLite store does it: every post queues itself.
 * While fewer than POST_IN_FLIGHT_MAX requests are on their way, the
 * first waiting post becomes the leader, takes the queue (up to
 * POST_BATCH_MAX posts and about POST_BATCH_BYTES of JSON), sends it and
 * wakes each post of it with its own result. No timer and no added wait:
 * a lone post leaves at once, as a plain POST /api/v1/messages, and
 * batches form only while earlier requests are on the wire.
 *
 * Two in flight, not one: with one, every post also waits out the round
 * trip of the batch ahead of it while both processes have idle time (the
 * front end reached 0.54-0.65 of role all in the bench); with two, the
 * next batch is on its way while the backend commits the last (0.71-0.82,
 * for smaller batches: backend CPU per post 40-45 us against 33-36).
 * Three gained nothing more and cost more CPU.
 *
 * Every post carries its own idempotency key inside the batch, so the
 * retry of a batch on a pooled connection the backend had closed stores
 * nothing twice, and a batch the backend refuses as too large (413) is
 * sent again post by post under the same keys. A backend without the
 * batch route (404 or 405: a guestbookd older than it) or whose store
 * cannot take one (501: a store without insert_many) gets single posts;
 * it is asked again after POST_BATCH_RETRY_S. The batch goes out with
 * the leader's request id and trace context; each post names its own
 * client address, which a backend that trusts the front end's
 * X-Forwarded-For (trust_proxy) charges the post's rate limit to.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_store.h"

#define POST_IN_FLIGHT_MAX 2
#define POST_BATCH_MAX	   64
#define POST_BATCH_BYTES   12000 /* under the backend's default max_body */
#define POST_BATCH_RETRY_S 60.0

/* One post waiting for its answer, on the stack of its thread. */
struct post_wait {
	const struct gb_store_ctx *ctx;
	const char *author, *text, *key;
	size_t size; /* its JSON in the batch, about */
	char id[GB_ID_MAX];
	int repeated;
	int single; /* the leader could not batch it: post it alone */
	enum gb_status status;
	struct gb_error err;
	atomic_int done; /* set by the leader once the result is in */
	sem_t wake;	 /* posted when done, or when it may lead */
	struct post_wait *next;
};

static pthread_mutex_t post_lock = PTHREAD_MUTEX_INITIALIZER;
static struct post_wait *post_head, *post_tail;
static int posts_in_flight;
/* Monotonic time the backend last refused the batch route; 0: never. */
static _Atomic double batch_refused_at;

/* A result's error message, or a fallback. */
static const char *result_message(const cJSON *r)
{
	const char *m = http_string_member(
	    cJSON_GetObjectItemCaseSensitive(r, "error"), "message");

	return m ? m : "no error message";
}

/* Applies one member of "results" to p; -1 when it is malformed. */
static int apply_result(struct http_store *st, const cJSON *r,
			struct post_wait *p, int retried)
{
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(r, "status");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "message");
	const char *id;

	if (!cJSON_IsNumber(status))
		return -1;
	if (status->valueint != 201) {
		int code = status->valueint;

		if (code == 400 || code == 422)
			gb_error_set(&p->err, GB_ERR_INVALID, "%s",
				     result_message(r));
		else
			gb_error_set(&p->err, GB_ERR_UNAVAILABLE,
				     "backend %s refused a post (HTTP %d): %s",
				     st->url, code, result_message(r));
		p->status = p->err.status;
		return 0;
	}
	id = http_string_member(m, "id");
	if (!http_v1_message_valid(m) || !id)
		return -1;
	snprintf(p->id, sizeof(p->id), "%s", id);
	/* as for a single post: a replay of our own first try is ours */
	p->repeated =
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "replayed")) &&
	    !retried;
	p->status = GB_OK;
	return 0;
}

static char *batch_body(struct post_wait *batch)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *msgs = root ? cJSON_AddArrayToObject(root, "messages") : NULL;
	char *json = NULL;

	for (struct post_wait *p = batch; msgs && p; p = p->next) {
		cJSON *m = cJSON_CreateObject();

		if (!m || !cJSON_AddItemToArray(msgs, m) ||
		    !cJSON_AddStringToObject(m, "author", p->author) ||
		    !cJSON_AddStringToObject(m, "message", p->text) ||
		    !cJSON_AddStringToObject(m, "idempotency_key", p->key) ||
		    (p->ctx && p->ctx->client_addr &&
		     !cJSON_AddStringToObject(m, "client",
					      p->ctx->client_addr))) {
			if (m && !cJSON_GetArraySize(msgs))
				cJSON_Delete(m);
			msgs = NULL;
		}
	}
	if (msgs)
		json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return json;
}

/* Every post of the batch fails with err, or goes out alone. */
static void batch_fail(struct post_wait *batch, const struct gb_error *err,
		       int single)
{
	for (struct post_wait *p = batch; p; p = p->next) {
		p->single = single;
		p->err = *err;
		p->status = err->status;
	}
}

/* Sends the batch (two posts or more) and fills every post's result. */
static void send_batch(struct http_store *st, struct post_wait *batch, int n)
{
	struct gb_error err = {GB_OK, ""};
	struct http_reply r;
	const cJSON *results, *item;
	struct post_wait *p = batch;
	enum gb_status rc;
	cJSON *root;
	char *json = batch_body(batch);

	if (!json) {
		gb_error_set(&err, GB_ERR_NOMEM, "insert: out of memory");
		batch_fail(batch, &err, 0);
		return;
	}
	rc = http_call(st, batch->ctx, "POST", "/api/v1/messages/batch", json,
		       NULL, 1, st->timeout_ms, &r, &err);
	cJSON_free(json);
	if (rc != GB_OK) {
		batch_fail(batch, &err, 0);
		return;
	}
	if (r.status == 404 || r.status == 405 || r.status == 501 ||
	    r.status == 413) {
		if (r.status != 413)
			atomic_store(&batch_refused_at,
				     http_host()->now_monotonic());
		http_reply_free(&r);
		batch_fail(batch, &err, 1);
		return;
	}
	if (r.status != 200) {
		http_unexpected(st, &r, "POST /api/v1/messages/batch", &err);
		http_reply_free(&r);
		batch_fail(batch, &err, 0);
		return;
	}
	root = cJSON_ParseWithLength(r.body, r.len);
	results = cJSON_GetObjectItemCaseSensitive(root, "results");
	if (!cJSON_IsArray(results) || cJSON_GetArraySize(results) != n)
		goto garbage;
	cJSON_ArrayForEach(item, results)
	{
		if (apply_result(st, item, p, r.retried) < 0)
			goto garbage;
		p = p->next;
	}
	cJSON_Delete(root);
	http_reply_free(&r);
	return;
garbage:
	cJSON_Delete(root);
	http_reply_free(&r);
	http_garbage(st, "POST /api/v1/messages/batch",
		     "{\"results\":[...]} with one result per message", &err);
	batch_fail(batch, &err, 0);
}

/* Takes the posts at the head of the queue that fit in one batch. */
static struct post_wait *take_batch(int *n)
{
	struct post_wait *batch = post_head, *last = post_head;
	size_t bytes = post_head->size;

	*n = 1;
	while (last->next && *n < POST_BATCH_MAX &&
	       bytes + last->next->size <= POST_BATCH_BYTES) {
		last = last->next;
		bytes += last->size;
		(*n)++;
	}
	post_head = last->next;
	if (!post_head)
		post_tail = NULL;
	last->next = NULL;
	return batch;
}

/* Whether the backend has refused the batch route lately. */
static int batch_refused(void)
{
	double at = atomic_load(&batch_refused_at);

	return at > 0 && http_host()->now_monotonic() - at < POST_BATCH_RETRY_S;
}

enum gb_status http_v1_post(struct http_store *st,
			    const struct gb_store_ctx *ctx, const char *author,
			    const char *text, const char *key,
			    char id_out[GB_ID_MAX], int *repeated,
			    struct gb_error *err)
{
	struct post_wait w = {
	    .ctx = ctx, .author = author, .text = text, .key = key};
	struct post_wait *batch, *next;
	int n;

	if (batch_refused())
		return http_v1_insert(st, ctx, author, text, key, id_out,
				      repeated, err);
	/* raw lengths, escapes aside: the backend's 413 catches the rest */
	w.size = strlen(author) + strlen(text) + strlen(key) + 64;
	sem_init(&w.wake, 0, 0);
	pthread_mutex_lock(&post_lock);
	if (post_tail)
		post_tail->next = &w;
	else
		post_head = &w;
	post_tail = &w;
	while (!atomic_load(&w.done)) {
		if (posts_in_flight >= POST_IN_FLIGHT_MAX || post_head != &w) {
			/* Woken with done set, it needs the lock no more:
			 * the leader's wake-ups do not queue on it. */
			pthread_mutex_unlock(&post_lock);
			while (sem_wait(&w.wake) != 0)
				; /* EINTR */
			if (atomic_load(&w.done))
				goto finished;
			pthread_mutex_lock(&post_lock);
			continue;
		}
		batch = take_batch(&n);
		posts_in_flight++;
		pthread_mutex_unlock(&post_lock);
		if (n == 1) /* batch is w: a plain post, still in flight */
			w.status = http_v1_insert(st, ctx, author, text, key,
						  w.id, &w.repeated, &w.err);
		else
			send_batch(st, batch, n);
		pthread_mutex_lock(&post_lock);
		posts_in_flight--;
		for (; batch; batch = next) {
			next = batch->next;
			atomic_store(&batch->done, 1);
			/* under the lock: its owner may return at once */
			if (batch != &w)
				sem_post(&batch->wake);
		}
		/* the next leader: whoever heads the queue now */
		if (post_head)
			sem_post(&post_head->wake);
	}
	pthread_mutex_unlock(&post_lock);
finished:
	sem_destroy(&w.wake);
	if (w.single)
		return http_v1_insert(st, ctx, author, text, key, id_out,
				      repeated, err);
	if (err)
		*err = w.err;
	*repeated = w.repeated;
	snprintf(id_out, GB_ID_MAX, "%s", w.status == GB_OK ? w.id : "");
	return w.status;
}
