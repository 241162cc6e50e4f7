/* The one data symbol the wlcs runner looks up (dlsym "wlcs_server_integration"). Swift cannot
 * define an exported const C struct, so it lives here; everything it points at is Swift. */
#include "CWlcs.h"

WlcsServerIntegration const wlcs_server_integration = {
    .version = WLCS_SERVER_INTEGRATION_VERSION,
    .create_server = compositord_wlcs_create_server,
    .destroy_server = compositord_wlcs_destroy_server,
};
