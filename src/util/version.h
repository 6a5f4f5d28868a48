#ifndef TC_UTIL_VERSION_H
#define TC_UTIL_VERSION_H

#define TC_VERSION "0.1.0"
#define TC_PROTOCOL_VERSION 2u
/* The oldest peer protocol this node still talks to (newer ones talk down
 * to TC_PROTOCOL_VERSION; docs/protocol.md, versioning). */
#define TC_PROTOCOL_MIN_VERSION 1u
_Static_assert(TC_PROTOCOL_MIN_VERSION <= TC_PROTOCOL_VERSION, "min protocol above ours");
#define TC_USER_AGENT "timecoin-c/" TC_VERSION

#endif
