/// A kernel variant chosen at compile time: loops generic over a switch are specialized
/// once per value, so a variant's branch (the fused ReLU mask, writing a frozen input
/// gradient, centering) is constant-folded out of the inner loop instead of tested, and
/// its coefficient vectors are not even loaded when it is off.
protocol KernelSwitch {
  static var isOn: Bool { get }
}

enum SwitchOn: KernelSwitch {
  static var isOn: Bool { true }
}

enum SwitchOff: KernelSwitch {
  static var isOn: Bool { false }
}
