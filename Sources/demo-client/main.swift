import ClientKit
