/* SPDX-License-Identifier: MIT */
/* Key rotation's timing, shared by rekey.c and the control tick. */
#ifndef LWT_REKEY_H
#define LWT_REKEY_H

#define REKEY_RETRY_NS (1000000000ull)		/* REKEY unanswered: send again */
#define REKEY_TRIES 5				/* ... then the client must handshake */

#endif
