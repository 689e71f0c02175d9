# Homebrew formula for pent: copy it to Formula/pent.rb in a tap (for example
# pent-sandbox/homebrew-tap), then `brew install --HEAD pent-sandbox/tap/pent`.
# For a release, add the tag's tarball above `head`:
#   url "https://github.com/pent-sandbox/pent/archive/refs/tags/vX.Y.Z.tar.gz"
#   sha256 "<shasum -a 256 of that tarball>"
class Pent < Formula
  desc "Run commands in a sandbox with an allowlist of paths and domain names"
  homepage "https://github.com/pent-sandbox/pent"
  head "https://github.com/pent-sandbox/pent.git", branch: "main"

  depends_on "go" => :build

  def install
    # CGO_ENABLED=0: a static binary, like every other build of pent.
    ENV["CGO_ENABLED"] = "0"
    system "go", "build", *std_go_args(ldflags: "-s -w -X main.version=#{version}"), "./cmd/pent"
    generate_completions_from_executable(bin/"pent", "completion")
    system bin/"pent", "man", man1
    (share/"fish/vendor_conf.d").install "packaging/fish/pent.fish"
  end

  def caveats
    <<~EOS
      To sandbox a trusted project's commands when you cd into it, add to ~/.zshrc:
        eval "$(pent hook zsh)"
      or to ~/.bashrc:
        eval "$(pent hook bash)"
      fish turns the hook on by itself. Check this machine with: pent doctor
    EOS
  end

  test do
    assert_match(/^pent \S+ (darwin|linux)\//, shell_output("#{bin}/pent version"))
    assert_match "_pent_hook", shell_output("#{bin}/pent hook bash")
  end
end
