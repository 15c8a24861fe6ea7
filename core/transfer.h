/*
 * transfer.h - the data commands of guestbookd, run on the configured
 * store (opened with gb_host_open_store): export, import and backup. Each
 * returns the process exit status and tells the user on stderr what
 * happened; stdout carries data only (export's JSON Lines).
 */
#ifndef GB_CORE_TRANSFER_H
#define GB_CORE_TRANSFER_H

/* Exit statuses of the data commands. */
#define GB_EXIT_OK	  0
#define GB_EXIT_FAILED	  1 /* the store or a file failed: retry may help */
#define GB_EXIT_BAD_INPUT 2 /* bad settings or a bad input line */

/*
 * Writes the header line and every message of the store, oldest first, as
 * JSON Lines (message_line.h) to stdout, streaming. Documents that are not
 * messages (missing fields) are skipped, each named on stderr.
 */
int gb_export_run(void);

/*
 * Reads an export from stdin and adds its messages to the store in
 * batches of GB_IMPORT_BATCH lines, each batch stored whole. A bad line
 * stops it with GB_EXIT_BAD_INPUT before the batch that holds it is
 * written, naming the line and how to resume (run it again: stored lines
 * are skipped).
 */
#define GB_IMPORT_BATCH 1000
int gb_import_run(void);

/* Writes a consistent copy of the store to `path` (SQLite's backup). */
int gb_backup_run(const char *path);

/*
 * Runs `guestbookd COMMAND ...` when argv[1] names a data command: loads
 * the settings from the remaining arguments (backup takes FILE first),
 * opens the store, runs the command. Returns its exit status, or -1 when
 * argv[1] is no data command.
 */
int gb_transfer_main(int argc, char **argv);

#endif
