/* CWayland: one Clang module over libwayland-server, libwayland-client, the generated code of every
 * protocol in protocol/, and the few C shims Swift cannot do without. */
#ifndef CWAYLAND_H
#define CWAYLAND_H

/* Without this some callbacks take `struct wl_resource *` by deprecated layouts. */
#define WL_HIDE_DEPRECATED 1

#include <wayland-server.h>
#include <wayland-client.h>
#include "protocols.h"
#include "interfaces.h"
#include "shims.h"
#include "sigbus_guard.h"

#endif
