from leaklint.launch import main

main()
