# pent: sandbox the commands a trusted project lists, in interactive fish.
# Installed in fish's vendor_conf.d by install.sh and pent's packages.
if status is-interactive; and command -q pent
    pent hook fish | source
end
