/*
 * LeakSanitizer suppressions for the test programs that act as clients
 * of a spregd they kill or stop under load (linked into those only).
 *
 * nng 1.5.2's REQ socket loses the request message it keeps for
 * resending when its connection closes while that message is being
 * sent: the message (allocated by nng_msg_alloc in the client's
 * call_impl, then owned by nng) is never freed, even after nng_close.
 * The client library frees every message nng hands back; what remains
 * is inside libnng, seen only when a server goes away mid-call, so it
 * made these tests fail by chance.
 *
 * This filters only the report of the test program itself: spregd,
 * which the tests start as a separate process, keeps the full leak
 * check, as do the unit tests and the CLI.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libnng.so.1\n";
}
