/*
 * Re-assessment: when a write or the passing of a day turns a lawful
 * transfer (NO_TRANSFER, ADEQUATE, SAFEGUARDED, DEROGATION) into a
 * failing one (TIA_REQUIRED, INVALID, MISSING), a Change of kind
 * ASSESSMENT_CHANGED goes to the log, in the transaction that saw it, so
 * it reaches the notification topics like any other change. Internal to
 * src/rpc/: rpc.c calls it after a write and from rpc_reassess_day.
 *
 * A transfer is one (regime, country, data category) of a vendor; only
 * transfers present both before and after count (a new location that
 * fails was never lawful). Every regime of the rules is judged.
 */
#ifndef RPC_REASSESS_H
#define RPC_REASSESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "rpc/rpc.h"

/* DB_META key: the last day rpc_reassess_day compared against. */
#define RPC_REASSESS_META "reassessed_on"
#define RPC_REASSESS_ACTOR "spregd (transfer reassessment)"

/*
 * For each change of changes[0..n) that replaced a subprocessor record
 * (UPDATED, RETIRED, TOOK_EFFECT), judges the revision before and the one
 * after on the day of now_ms, and appends an ASSESSMENT_CHANGED change
 * (ref_seq: that change) in t when a transfer went lawful -> failing.
 * Appended changes live in a. Does nothing without rules.
 */
spreg_status rpc_reassess_changes(rpc_server *srv, db_txn *t, arena *a,
    const Spreg__V1__Change *const *changes, size_t n, int64_t now_ms,
    uint64_t request_id, err *e);

/*
 * Scans every subprocessor (in pages, a read transaction per page) for
 * transfers lawful on day from and failing on day to. Only vendors with
 * a date of their own in (from, to] are judged, unless a rule or
 * mechanism boundary falls in it. Returns the changes to append (seq
 * unset), allocated in keep; scan is reset between pages.
 */
spreg_status rpc_reassess_scan(rpc_server *srv, db_session *s, int32_t from,
    int32_t to, int64_t now_ms, arena *scan, arena *keep,
    Spreg__V1__Change ***out, size_t *n_out, err *e);

#endif
