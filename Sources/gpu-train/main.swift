print("gpu-train")
