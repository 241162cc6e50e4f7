/* The wlcs integration ABI (Debian package `wlcs`: headers in /usr/include/wlcs) and the
 * containers that tie each struct the runner holds to its Swift owner. */
#ifndef CWLCS_H
#define CWLCS_H

#include <wlcs/display_server.h>
#include <wlcs/pointer.h>
#include <wlcs/touch.h>

/* The runner gets &x.base; the Swift side finds its object through `owner` (an Unmanaged
 * pointer it retained when it made the container, released when the runner destroys it). */
struct cwlcs_display_server { WlcsDisplayServer base; void *owner; };
struct cwlcs_pointer { WlcsPointer base; void *owner; };
struct cwlcs_touch { WlcsTouch base; void *owner; };

/* Defined in Swift (@_cdecl, WlcsIntegration/Entry.swift). */
WlcsDisplayServer *compositord_wlcs_create_server(int argc, char const **argv);
void compositord_wlcs_destroy_server(WlcsDisplayServer *server);

#endif
