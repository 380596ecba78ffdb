public enum KernelSources {}
