// What embedders of the Compositor library see with it: the seal-policy names, the surface model
// and the client-memory layer it is built on.
@_exported import Buffers
@_exported import Policies
@_exported import SurfaceModel

import Outputs
/// `--output-device` (ServerConfiguration.outputDevice): defined with the output backends.
public typealias OutputDeviceChoice = Outputs.OutputDeviceChoice

import Input
/// `--keyboard-layout` and XKB_DEFAULT_* (ServerConfiguration.keymap): defined with the seat's keyboard.
public typealias KeymapNames = Input.KeymapNames
