/// `compositord run …` (RunCommand) or the compositor itself (Compositord).
@main
enum Entry {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "run" { RunCommand.main(Array(arguments.dropFirst())) }
        Compositord.main()
    }
}
