/// The architecture grammar, for `--help` (the table of `Architecture`'s documentation).
enum ArchitectureHelp {
  static let text = """
    ARCHITECTURE: comma-separated layers in the order of a PyTorch nn.Sequential, so \
    layer i's parameters are PyTorch's `i.…` state_dict keys. The input shape comes \
    from the data: flattened images [H·W], or [1, H, W] when the first layer that \
    cares is a convolution or a pooling.
      linear:OUT              fully connected (flattens image-shaped input)
      conv:OUT:K[:S[:P]]      convolution: kernel K, stride S=1, padding P=0
      …:nobias                after linear or conv: no bias (PyTorch's bias=False), as before bn
      maxpool:K, avgpool:K    2-D pooling, kernel = stride = K
      flatten                 (N, C, H, W) → (N, C·H·W)
      bn                      BatchNorm1d after linear, BatchNorm2d after conv
      sigmoid, tanh, relu     activations
      dropout:P               inverted dropout, drop probability P
    `bn` takes options after colons: momentum=M (weight on the new batch), eps=E, \
    ghost=V (virtual batch size), renorm (Batch Renormalization), biased (biased \
    running variance), noaffine, cumulative; e.g. linear:100,bn:momentum=0.01,sigmoid,linear:10.
    Examples: linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10 \
    and conv:32:3:1:1,bn,relu,maxpool:2,conv:64:3:1:1,bn,relu,maxpool:2,flatten,linear:10
    """
}
