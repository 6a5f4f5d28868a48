#ifndef TC_UTIL_VERSION_H
#define TC_UTIL_VERSION_H

#define TC_VERSION "0.1.0"
#define TC_PROTOCOL_VERSION 1u
#define TC_USER_AGENT "timecoin-c/" TC_VERSION

#endif
