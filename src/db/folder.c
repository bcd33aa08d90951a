/*
 * The data folder around the store: an exclusive flock so that one
 * server serves it, the marker of a first start not yet finished, and
 * the files checked (and lock.mdb allocated) before LMDB maps them, so
 * that a damaged or truncated store is refused by name and never taken
 * for a first start or read into a SIGBUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "db/store.h"

void
db_folder_path(const db *d, const char *name, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/%s", d->dir, name);
}

static bool
folder_has(const db *d, const char *name)
{
	char path[PATH_MAX];
	struct stat sb;

	db_folder_path(d, name, path);
	return lstat(path, &sb) == 0;
}

spreg_status
db_folder_sync(const db *d, err *e)
{
	int fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		int saved = errno;
		if (fd >= 0) {
			close(fd);
		}
		return err_set(e, SPREG_UNAVAILABLE, "data folder %s: %s",
		    d->dir, strerror(saved));
	}
	close(fd);
	return SPREG_OK;
}

/*
 * An exclusive lock on the folder for the process's lifetime, taken
 * before anything in it is read or created: a second server on the same
 * folder is refused at once, rather than share a store it would see
 * resized under it. The file holds the holder's pid, for that refusal.
 */
spreg_status
db_folder_lock(db *d, err *e)
{
	char path[PATH_MAX];
	char pid[32] = "";

	db_folder_path(d, DB_FOLDER_LOCK, path);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (d->lock_fd < 0) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(errno));
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			return err_set(e, SPREG_UNAVAILABLE, "%s: lock: %s",
			    path, strerror(errno));
		}
		ssize_t n = pread(d->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		long holder = strtol(pid, NULL, 10);
		if (holder > 0) {
			return err_set(e, SPREG_UNAVAILABLE, "data folder %s "
			    "is in use by another spregd (pid %ld holds %s); "
			    "one server per data folder", d->dir, holder, path);
		}
		return err_set(e, SPREG_UNAVAILABLE, "data folder %s is in "
		    "use by another spregd (it holds %s); one server per data "
		    "folder", d->dir, path);
	}
	/* Best effort: a full disk may refuse even these bytes. */
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());
	if (ftruncate(d->lock_fd, 0) == 0 &&
	    pwrite(d->lock_fd, pid, (size_t) len, 0) != len) {
		log_debug("%s: pid not recorded", path);
	}
	return SPREG_OK;
}

/*
 * What the folder holds: a store (data.mdb of a plausible size), nothing
 * (a first start: *fresh), or something that must stop the server: an
 * empty or short data.mdb, or data.mdb missing beside files a store
 * leaves (lock.mdb, o->markers). LMDB would take an empty data.mdb for a
 * new environment, so this runs before it sees the folder.
 */
spreg_status
db_folder_check(db *d, const db_options *o, bool *fresh, err *e)
{
	char path[PATH_MAX];
	struct stat sb;

	if (folder_has(d, DB_NEW_MARK)) {
		/* Our first start was cut short (a full disk, a kill):
		 * nothing was ever served from what it left. */
		db_folder_path(d, DB_NEW_MARK, path);
		log_warn("%s: an earlier first start did not finish; removing "
		    "what it left and starting again", path);
		static const char *const left[] = {DB_DATA_FILE, DB_LMDB_LOCK,
		    DB_IDENTITY_FILE};
		const size_t nleft = sizeof(left) / sizeof(left[0]);
		for (size_t i = 0; i < nleft || (o->markers != NULL &&
		         o->markers[i - nleft] != NULL); i++) {
			const char *name = i < nleft ? left[i] :
			    o->markers[i - nleft];
			db_folder_path(d, name, path);
			if (unlink(path) != 0 && errno != ENOENT) {
				return err_set(e, SPREG_UNAVAILABLE, "%s: %s",
				    path, strerror(errno));
			}
		}
		*fresh = true;
		return SPREG_OK;
	}
	db_folder_path(d, DB_DATA_FILE, path);
	if (stat(path, &sb) == 0) {
		*fresh = false;
		if (!S_ISREG(sb.st_mode)) {
			return err_set(e, SPREG_FAILED_PRECONDITION,
			    "%s is not a regular file", path);
		}
		if (sb.st_size == 0) {
			return err_set(e, SPREG_DATA_LOSS, "%s is empty (0 "
			    "bytes): it holds no store, and a first start "
			    "needs a folder with no data file; restore it "
			    "from a backup", path);
		}
		if (sb.st_size < DB_FILE_MIN) {
			return err_set(e, SPREG_DATA_LOSS, "%s is %lld bytes, "
			    "shorter than any store: the file is truncated; "
			    "restore it from a backup", path,
			    (long long) sb.st_size);
		}
		return SPREG_OK;
	}
	if (errno != ENOENT) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(errno));
	}
	for (size_t i = 0; i < 1 || (o->markers != NULL &&
	         o->markers[i - 1] != NULL); i++) {
		const char *name = i == 0 ? DB_LMDB_LOCK : o->markers[i - 1];
		if (folder_has(d, name) || (i == 0 &&
		        folder_has(d, name = DB_IDENTITY_FILE))) {
			return err_set(e, SPREG_DATA_LOSS, "%s is missing, but "
			    "the folder held a store (%s is there): not a "
			    "first start; restore the file from a backup, or "
			    "start on an empty folder", path, name);
		}
	}
	*fresh = true;
	return SPREG_OK;
}

/* Marks a first start under way, durably, before the store is made. */
spreg_status
db_folder_mark_new(db *d, err *e)
{
	char path[PATH_MAX];

	db_folder_path(d, DB_NEW_MARK, path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0 || fsync(fd) != 0) {
		int saved = errno;
		if (fd >= 0) {
			close(fd);
		}
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(saved));
	}
	close(fd);
	d->created_open = true;
	return db_folder_sync(d, e);
}

/* Allocates lock.mdb's blocks (see DB_LOCK_BYTES). */
spreg_status
db_folder_reserve_lock(db *d, err *e)
{
	char path[PATH_MAX];
	struct stat sb;
	int rc;

	db_folder_path(d, DB_LMDB_LOCK, path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(errno));
	}
	rc = fstat(fd, &sb) != 0 ? errno : posix_fallocate(fd, 0,
	    sb.st_size > DB_LOCK_BYTES ? sb.st_size : DB_LOCK_BYTES);
	close(fd);
	if (rc == ENOSPC || rc == EDQUOT) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED, "%s: the disk is "
		    "full (%s)", path, strerror(rc));
	}
	if (rc != 0) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(rc));
	}
	return SPREG_OK;
}

/* Reading a page past the end of the mapped file is a SIGBUS: a data
 * file shorter than its last page is refused before any is read. */
spreg_status
db_check_size(db *d, err *e)
{
	char path[PATH_MAX];
	MDB_envinfo info;
	MDB_stat ms;
	mdb_filehandle_t fd;
	struct stat sb;

	db_folder_path(d, DB_DATA_FILE, path);
	if (mdb_env_info(d->env, &info) != 0 ||
	    mdb_env_stat(d->env, &ms) != 0 ||
	    mdb_env_get_fd(d->env, &fd) != 0 || fstat(fd, &sb) != 0) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: cannot read its "
		    "size", path);
	}
	unsigned long long need = ((unsigned long long) info.me_last_pgno +
	    1) * ms.ms_psize;
	if ((unsigned long long) sb.st_size < need) {
		return err_set(e, SPREG_DATA_LOSS, "%s is %lld bytes, but the "
		    "store in it ends at byte %llu (%zu pages of %u bytes): "
		    "the file is truncated; restore it from a backup", path,
		    (long long) sb.st_size, need, info.me_last_pgno + 1,
		    ms.ms_psize);
	}
	return SPREG_OK;
}
