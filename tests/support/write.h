/*
 * A test's or benchmark's whole write as one function, run the way the
 * server runs its writes (db/db.h): begun, committed durably, and run
 * again from the start when the map had to grow.
 */
#ifndef TEST_WRITE_H
#define TEST_WRITE_H

#include "db/db.h"

typedef spreg_status (*test_write_fn)(db_txn *t, void *arg, err *e);

static inline spreg_status
test_write(db_session *s, test_write_fn fn, void *arg, err *e)
{
	spreg_status st;
	db_txn t;

	do {
		if ((st = db_write_begin(s, &t, NULL, e)) != SPREG_OK) {
			break;
		}
		st = fn(&t, arg, e);
	} while (db_write_retry(&t, &st, e));
	return st;
}

#endif
