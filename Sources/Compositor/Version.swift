/// The version compositord reports in logs and `--version`.
public let compositordVersion = "0.1.0"
import Buffers
import CWayland
import CPixman
import CDRM
import CZlib
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement
