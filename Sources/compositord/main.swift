import Compositor
print(compositordVersion)
