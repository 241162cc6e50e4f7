/* libxkbcommon (Debian: libxkbcommon-dev): keymaps compiled from RMLVO names or a client's text,
 * and the keyboard state that tracks modifiers. */
#include <xkbcommon/xkbcommon.h>
